"""`python -m fer.predict`: the command's name; its code is `fer.app.cli`."""

import sys

from fer.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
