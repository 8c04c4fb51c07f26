"""The hub's own account: the author of evaluation comments and of fine-tuning pull requests.

Its name (settings HUB_BOT_USERNAME, "modelhub-bot" by default) is reserved
(`accounts.names.RESERVED_NAMESPACES`), so nobody can sign up as the bot. It has no usable
password and no token: it acts only through services called by the hub itself.
"""
from __future__ import annotations

from django.conf import settings

from accounts.models import User


def hub_bot() -> User:
    bot, created = User.objects.get_or_create(username=settings.HUB_BOT_USERNAME,
                                              defaults={"fullname": "ModelHub bot", "email": ""})
    if created:
        bot.set_unusable_password()
        bot.save(update_fields=["password"])
    return bot
