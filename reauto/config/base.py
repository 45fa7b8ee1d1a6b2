"""What every settings section shares: unknown keys are errors, defaults are validated too; and the
type of a setting that names a provider, whose allowed names come from :mod:`reauto.providercatalog`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from reauto import providercatalog


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def provider_name(family: str, role: str | None = None, *, also: tuple[str, ...] = ()) -> Any:
    """The type of a setting naming a ``family`` provider (one that may fill ``role``), or one of ``also``.

    The allowed values are the catalog's names (the reference pages list them); any other name is
    refused with a message that lists them.
    """
    known = (*providercatalog.names(family, role), *also)

    def check(value: Any) -> Any:
        return providercatalog.check(family, value, role, also=also) if isinstance(value, str) else value

    return Annotated[Literal[known], BeforeValidator(check)]  # type: ignore[valid-type]


if TYPE_CHECKING:  # checkers see a plain string; at run time the catalog's names
    TtsLocal = str
    TtsPremium = str
    SttName = str
    TelephonyName = str
    LlmBrain = str
else:
    TtsLocal = provider_name("tts", "local")
    TtsPremium = provider_name("tts", "premium", also=("none",))
    SttName = provider_name("stt")
    TelephonyName = provider_name("telephony")
    LlmBrain = provider_name("llm", also=("scripted",))
