"""Hyperparameters the scikit-learn way: the constructor's arguments are the parameters,
stored as given; read, changed and cloned through them."""

from __future__ import annotations

import inspect
from typing import Any, Self

from coldrec.errors import ConfigError

__all__ = ["Parameters"]


class Parameters:
    """``get_params`` / ``set_params`` / ``clone`` / ``repr`` from the constructor."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments of this model."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change hyperparameters (takes effect at the next ``fit``)."""
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ConfigError(f"{type(self).__name__} has no parameter {key!r}; "
                                  f"valid: {', '.join(sorted(valid))}")
            setattr(self, key, value)
        return self

    def clone(self, **params: Any) -> Self:
        """An unfitted copy with the same (or overridden) hyperparameters."""
        return type(self)(**{**self.get_params(), **params})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
