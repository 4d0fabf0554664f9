"""``makemessages`` without fuzzy matching.

msgmerge's default guesses a translation for a new msgid from a similar old one and
marks it fuzzy (e.g. "People found" got "Page not found"); fuzzy entries are not
compiled, so the page shows English. The Korean texts come from
``locale/fragments/*.ko.po`` instead (see ``make messages``).
"""

from __future__ import annotations

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
