"""PostPilot: schedule and publish social posts — the engine, embedded in Python.

    import postpilot
    engine = postpilot.Engine.in_memory()
    user = engine.register(email="merchant@example.com", password="correct horse battery")

See docs/PYTHON.md for a walk-through and the reference.
"""

from postpilot._postpilot import (
    AuthError,
    AuthExpired,
    CaptionRefused,
    ConflictError,
    Engine,
    InvalidTransitionError,
    NotFoundError,
    PlanLimitError,
    PostPilotError,
    PublishingCapError,
    DuplicatePostError,
    PublishRejected,
    RateLimited,
    UnavailableError,
    ValidationError,
)

__all__ = [
    "AuthError",
    "AuthExpired",
    "CaptionRefused",
    "ConflictError",
    "Engine",
    "InvalidTransitionError",
    "NotFoundError",
    "PlanLimitError",
    "PostPilotError",
    "PublishingCapError",
    "DuplicatePostError",
    "PublishRejected",
    "RateLimited",
    "UnavailableError",
    "ValidationError",
]
