"""The review queue's rules: who is sent for review (:mod:`review_ui.queue.plan`).

Pure rules, no database: :mod:`review_ui.routing` and the route stage
(:mod:`flows.route`) read the queue and the night's files and call them.
"""
