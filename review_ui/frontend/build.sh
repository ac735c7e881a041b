#!/usr/bin/env bash
# Build the review app's static files into dist/ from the npm packages.
# Run by `make assets` (after `npm ci`); dist/ is not committed.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf dist.tmp
mkdir -p dist.tmp/assets/images dist.tmp/js
npx --no-install sass --no-source-map --style=compressed --quiet-deps --load-path=node_modules --load-path=. \
  council.scss dist.tmp/council.min.css
# GOV.UK and MOJ images share one folder, served at /assets (their CSS refers there).
cp -r node_modules/govuk-frontend/dist/govuk/assets/images/. dist.tmp/assets/images/
cp -r node_modules/@ministryofjustice/frontend/moj/assets/images/. dist.tmp/assets/images/
cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js dist.tmp/js/
cp node_modules/@ministryofjustice/frontend/moj/moj-frontend.min.js dist.tmp/js/
cp node_modules/htmx.org/dist/htmx.min.js dist.tmp/js/
cp app.js dist.tmp/js/
rm -rf dist
mv dist.tmp dist
