"""`python -m fer.onnx_export`: the command's name; its code is `fer.model.onnx_export`."""

import sys

from fer.model.onnx_export import main

if __name__ == "__main__":
    sys.exit(main())
