#!/usr/bin/env python3
"""Runs one tslab notebook headless with nbclient: run_notebook.py IN.ipynb OUT.ipynb

Prints the kernel start and every cell's time. When a cell fails it prints the cell's source and its stderr
(tslab sends type errors and stack traces there, not as an error output, so nbconvert alone shows nothing),
writes the partially executed notebook to OUT and exits 1. Never continues past a failed cell: tslab aborts
requests that arrive within 200 ms of an error, so later cells would silently not run.
"""
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def main() -> int:
    src, dst = sys.argv[1], sys.argv[2]
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=os.environ.get("TIAOYU_KERNEL", "tslab"),
        timeout=int(os.environ.get("TIAOYU_CELL_TIMEOUT", "1800")),
        startup_timeout=120,
        interrupt_on_timeout=True,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}},
    )
    rc, t0 = 0, time.time()
    try:
        with client.setup_kernel():
            print(f"{src}: kernel started in {time.time() - t0:.1f}s", flush=True)
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                c0 = time.time()
                try:
                    client.execute_cell(cell, i)
                    status = "ok"
                except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
                    status, rc = f"FAILED ({type(e).__name__})", 1
                print(f"  cell {i:>2}: {time.time() - c0:6.1f}s {status}", flush=True)
                if rc:
                    print("  ---- source ----")
                    print("\n".join("  | " + line for line in cell.source.splitlines()))
                    for out in cell.get("outputs", []):
                        if out.get("output_type") == "stream" and out.get("name") == "stderr":
                            print("  ---- stderr ----")
                            print("\n".join("  ! " + line for line in out.get("text", "").splitlines()[-40:]))
                        elif out.get("output_type") == "error":
                            print(f"  ---- error ----\n  ! {out.get('ename')}: {out.get('evalue')}")
                    break
    finally:
        os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
        tmp = dst + ".tmp"
        nbformat.write(nb, tmp)
        os.replace(tmp, dst)
    print(f"{src}: {'FAILED' if rc else 'ok'} in {time.time() - t0:.1f}s", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
