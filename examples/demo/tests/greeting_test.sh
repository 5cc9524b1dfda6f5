#!/bin/sh
# The greeting the pipeline's environment promises is what the program prints.
got=$(./bin/hello)
if [ "$got" = "$GREETING" ]; then
  echo "ok: greeting is '$got'"
else
  echo "FAIL: expected '$GREETING', got '$got'"
  exit 1
fi
