"""`python -m fer.evaluate`: the command's name; its code is `fer.training.evaluate`."""

import sys

from fer.training.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
