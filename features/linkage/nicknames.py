"""A small table of English given-name variants, written by hand.

Maps a nickname or short form to one canonical given name, so "Bob", "Rob"
and "Robert" compare as the same name on the nickname level of the first-name
comparison. It is deliberately small and conservative: a name with two common
readings ("Al" for Alan, Albert or Alfred) is left out rather than guessed.
No data was downloaded to make it.
"""

from __future__ import annotations

_VARIANTS: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "gail"),
    "alexander": ("alex", "sandy", "xander"),
    "alexandra": ("alexa", "lexi"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony", "ant"),
    "barbara": ("barb", "babs"),
    "benjamin": ("ben", "benny", "benji"),
    "catherine": ("cathy", "cath", "kate", "katie", "kathryn", "katherine", "kathy", "kat"),
    "charles": ("charlie", "chas", "chuck"),
    "christopher": ("chris", "kit"),
    "christine": ("chrissie", "tina"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davey", "davy"),
    "deborah": ("debbie", "debra", "deb"),
    "dorothy": ("dot", "dottie", "dora"),
    "edward": ("ed", "eddie", "ted", "teddy", "ned"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby", "bet", "lisa", "elspeth"),
    "eleanor": ("ellie", "nell", "nora"),
    "frederick": ("fred", "freddie", "freddy"),
    "gregory": ("greg",),
    "harold": ("harry", "hal"),
    "henry": ("hank",),
    "jacqueline": ("jackie", "jacqui"),
    "james": ("jim", "jimmy", "jamie", "jimbo"),
    "jennifer": ("jen", "jenny", "jenna"),
    "john": ("jack", "johnny", "jon", "jonny"),
    "jonathan": ("jonty",),
    "joseph": ("joe", "joey", "jo"),
    "joshua": ("josh",),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurie", "laurence"),
    "leonard": ("leo", "len", "lenny"),
    "margaret": ("maggie", "meg", "peggy", "marge", "madge", "greta", "maisie"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mick", "micky", "mickey", "mikey"),
    "nathan": ("nate",),
    "nathaniel": ("nat",),
    "nicholas": ("nick", "nicky", "nico"),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "patrick": ("paddy",),
    "peter": ("pete",),
    "philip": ("phil", "phillip"),
    "rebecca": ("becky", "becca", "bex"),
    "richard": ("rich", "rick", "ricky", "dick", "richie"),
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "ronald": ("ron", "ronnie"),
    "samantha": ("sam", "sammy"),
    "samuel": ("sammie",),
    "sarah": ("sally", "sara", "sadie"),
    "stephen": ("steve", "stevie", "steven"),
    "susan": ("sue", "susie", "suzy", "suzanne"),
    "theodore": ("theo",),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "vikki", "tori"),
    "william": ("bill", "billy", "will", "willie", "liam", "wills"),
    "zachary": ("zach", "zack"),
}

#: Each variant (and each canonical name) mapped to its canonical given name.
NICKNAMES: dict[str, str] = {
    variant: canonical for canonical, variants in _VARIANTS.items() for variant in (canonical, *variants)
}
