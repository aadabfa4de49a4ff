"""Payment providers: `get_provider()` gives the configured one (config PAYMENT_PROVIDER)."""

from __future__ import annotations

from flask import current_app

from portal.payments.base import Checkout, Provider, ProviderError, ProviderStatus


class UnknownProvider(LookupError):
    pass


def _providers() -> dict[str, type[Provider]]:
    # Imported here: the Mollie client is only loaded when it is used.
    from portal.payments.mollie import MollieProvider
    from portal.payments.sandbox import SandboxProvider

    return {"sandbox": SandboxProvider, "mollie": MollieProvider}


PROVIDER_NAMES = ("sandbox", "mollie")


def get_provider(name: str | None = None) -> Provider:
    """The provider called `name`, or the configured one; UnknownProvider for any other name."""
    name = name or current_app.config["PAYMENT_PROVIDER"]
    provider = _providers().get(name)
    if provider is None:
        raise UnknownProvider(name)
    return provider()


__all__ = [
    "PROVIDER_NAMES",
    "Checkout",
    "Provider",
    "ProviderError",
    "ProviderStatus",
    "UnknownProvider",
    "get_provider",
]
