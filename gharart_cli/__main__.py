"""``python -m gharart_cli``: the same as the ``gharart`` console script."""

import sys

from gharart_cli.main import main

sys.exit(main())
