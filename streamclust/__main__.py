import sys

from streamclust.cli import main

sys.exit(main())
