"""``python -m autograder.sandbox setup|check`` (``autograder.sandbox.provision.main``)."""

import sys

from autograder.sandbox.provision import main

sys.exit(main())
