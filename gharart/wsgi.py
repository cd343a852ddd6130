import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gharart.settings")
django_application = get_wsgi_application()

from domains.fast_path import SiteFastPath  # noqa: E402 - after Django is set up

# Live-host static files are answered before Django (domains.fast_path); the rest is Django's.
application = SiteFastPath(django_application)

# Everything loaded so far lives as long as the process: keep it out of the cyclic
# collector's generations, so collections triggered by requests scan only their own objects.
gc.freeze()
