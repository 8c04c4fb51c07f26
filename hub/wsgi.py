import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.dev")
django.setup(set_prefix=False)

from hub.http.wsgi import HubWSGIHandler  # noqa: E402 - Django must be set up first

application = HubWSGIHandler()
