"""benchmarks/generate_corpus.py for the tests (benchmarks/ is a folder of scripts, no package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

GENERATOR_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "generate_corpus.py"


def load_corpus_generator() -> ModuleType:
    """The generator module, loaded once from its file."""
    name = "deferaudit_benchmarks_generate_corpus"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, GENERATOR_PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]
