"""The ``gharart`` command-line client: deploy folders, promote, roll back and share files from CI.

It talks to a Gharart server over the public /v2 API only (httpx + argparse), so it can be
installed on a build machine without Django or Celery.
"""

__version__ = "0.1.0"
