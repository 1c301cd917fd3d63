"""Turn a handler string `module.function` into the callable, each failure as its own typed fault."""

from __future__ import annotations

import importlib
import os
import sys

from streaming_runtime.errors import (
    HandlerNotCallable,
    HandlerNotFound,
    ImportModuleError,
    MalformedHandlerName,
    UserCodeSyntaxError,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Handler = Callable[[Any, Any], Any]


def load_handler(handler: str, *, task_root: str) -> Handler:
    """Import the handler's module from `task_root` (put first on sys.path) and return the function.

    `handler` is `module.function`; the module may be dotted (`pkg.app.handler`) or use slashes
    (`pkg/app.handler`), as Lambda allows. Exceptions other than the typed faults (an error raised by the
    module's own top-level code) propagate unchanged, so they are reported under their own class name.
    """
    module_name, function_name = _split(handler)
    if task_root and task_root not in sys.path:
        sys.path.insert(0, task_root)
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise UserCodeSyntaxError(module=module_name, reason=_syntax_reason(exc)) from exc
    except ImportError as exc:
        raise ImportModuleError(module=module_name, reason=_import_reason(exc)) from exc
    try:
        function = getattr(module, function_name)
    except AttributeError:
        raise HandlerNotFound(module=module_name, function=function_name) from None
    if not callable(function):
        raise HandlerNotCallable(module=module_name, function=function_name, kind=type(function).__name__)
    result: Handler = function
    return result


def _split(handler: str) -> tuple[str, str]:
    module_name, dot, function_name = handler.strip().rpartition(".")
    module_name = module_name.replace("/", ".")
    parts = module_name.split(".")
    if not dot or not function_name.isidentifier() or not all(part.isidentifier() for part in parts):
        raise MalformedHandlerName(handler=handler)
    return module_name, function_name


def _import_reason(exc: ImportError) -> str:
    # "cannot import name 'x' from 'm' (/abs/path/m.py)": keep the base name, as for syntax errors.
    reason = str(exc)
    return reason.replace(exc.path, os.path.basename(exc.path)) if exc.path else reason


def _syntax_reason(exc: SyntaxError) -> str:
    # The file's base name only, as str(SyntaxError) gives it: the message reaches clients (502 body),
    # and the task root's absolute path is an internal detail.
    where = f" ({os.path.basename(exc.filename)}, line {exc.lineno})" if exc.filename else ""
    return f"{exc.msg}{where}"
