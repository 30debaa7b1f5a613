import sys

from ccpapers.cli import main

sys.exit(main())
