"""Type stubs of the native module."""

from datetime import date, datetime
from typing import Any, Callable, Generic, Mapping, Optional, Protocol, Sequence, TypedDict, TypeVar
from uuid import UUID

class User(TypedDict):
    id: UUID
    email: str
    plan: Optional[str]
    external_platform_id: Optional[UUID]
    external_store_id: Optional[UUID]
    time_zone: str
    pause_on: str
    created_at: datetime

class Account(TypedDict):
    id: UUID
    platform: str
    account_name: str
    account_id_external: str
    is_connected: bool
    needs_reconnect: bool
    publishing_cap: Optional[int]
    connected_at: Optional[datetime]
    created_at: datetime

class Post(TypedDict):
    id: UUID
    account_id: UUID
    queue_item_id: Optional[UUID]
    platform: str
    content: str
    media_urls: list[str]
    hashtags: list[str]
    status: str
    scheduled_for: Optional[datetime]
    next_attempt_at: Optional[datetime]
    attempts: int
    posted_at: Optional[datetime]
    external_id: Optional[str]
    external_url: Optional[str]
    error_message: Optional[str]
    on_slot: bool
    product: Optional[dict[str, Any]]
    created_at: datetime
    updated_at: datetime

class PostingSchedule(TypedDict):
    account_id: UUID
    time_zone: str
    slots: list[str]
    updated_at: datetime

class Slot(TypedDict):
    at: datetime
    posts: list[UUID]

class SlotListing(TypedDict):
    slots: list[Slot]
    off_slot: list[UUID]

class ImportRowError(TypedDict):
    row: int
    field: str
    reason: str

class ImportReport(TypedDict):
    id: UUID
    kind: str
    format: str
    mode: str
    status: str
    rows: int
    processed: int
    created: int
    duplicates: int
    failed: int
    errors: list[ImportRowError]
    error: Optional[str]
    created_at: datetime
    updated_at: datetime

class PublicationAttempt(TypedDict):
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    remote_id: Optional[str]
    error: Optional[str]

class CaptionGenerator(TypedDict):
    name: str  # "template", or the model: "anthropic:<model>", "openai:<model>"
    input_tokens: int
    output_tokens: int
    fell_back: Optional[str]  # why the template wrote it instead of the model

class Template(TypedDict):
    id: UUID
    name: str
    body: str  # placeholders: {title} {description} {price} {compare_at_price} {discount} {currency} {url} {store_name} {hashtags} {features} {tags}
    platforms: list[str]  # empty: every platform
    tone: Optional[str]
    created_at: datetime
    updated_at: datetime

class PlatformCaption(TypedDict):
    caption: str
    hashtags: list[str]

class QueueItem(TypedDict):
    id: UUID
    product_data: dict[str, Any]
    ai_generated_content: Optional[str]
    caption_generator: Optional[CaptionGenerator]  # None once the merchant wrote or edited it
    hashtags: list[str]
    platform_captions: dict[str, PlatformCaption]  # a platform's own caption, used on its posts instead
    platforms: list[str]
    tone: Optional[str]
    status: str
    rejection_reason: Optional[str]
    created_at: datetime
    updated_at: datetime

T = TypeVar("T")

class Page(TypedDict, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int
    next: Optional[str]

class PostPilotError(Exception): ...
class NotFoundError(PostPilotError): ...
class ValidationError(PostPilotError):
    field: str
    reason: str
class PlanLimitError(PostPilotError):
    resource: str
    limit: int
class InvalidTransitionError(PostPilotError): ...
class ConflictError(PostPilotError): ...
class PublishingCapError(ConflictError):
    platform: str
    cap: int
    window_start: datetime
    window_end: datetime
    next_free_at: Optional[datetime]
class DuplicatePostError(ConflictError):
    post_id: UUID
    scheduled_for: datetime
class AuthError(PostPilotError): ...
class UnavailableError(PostPilotError): ...
class PublishRejected(Exception):
    """Raise from a publisher: the platform refused the post for good."""
class CaptionRefused(Exception):
    """Raise from a caption generator: it will not write a caption for this product."""
class AuthExpired(Exception):
    """Raise from a publisher: the account must be reconnected."""
class RateLimited(Exception):
    """Raise from a publisher: the platform's rate limit. `RateLimited(retry_after_seconds)`
    (default 60, at most a day): the post waits that long, without counting an attempt."""
    def __init__(self, retry_after_seconds: float = ...) -> None: ...

class CaptionRules(TypedDict):
    max_caption: int
    length_unit: str  # "chars" or "utf16"
    max_hashtags: Optional[int]
    hashtags_in_caption: bool

class CaptionRequest(TypedDict):
    product: dict[str, Any]
    platforms: list[str]
    tone: str
    variant: int  # 0 first, then one more per regeneration
    rules: dict[str, CaptionRules]  # per target platform

class CaptionAnswer(TypedDict, total=False):
    caption: str  # required
    hashtags: list[str]
    generator: str  # recorded as caption_generator["name"] (default "python")
    input_tokens: int
    output_tokens: int

CaptionGenerator = Callable[[CaptionRequest], "CaptionAnswer | str"]

class Publisher(Protocol):
    def publish(self, post: dict[str, Any]) -> "str | dict[str, Any]": ...

class Engine:
    @staticmethod
    def in_memory(*, publishers: Optional[Mapping[str, Publisher]] = None,
                  tiktok_daily_cap: Optional[int] = None,
                  captions: Optional[CaptionGenerator] = None,
                  plans: Optional[Mapping[str, Any]] = None) -> "Engine": ...
    @staticmethod
    def postgres(url: str, *, migrate: bool = True, token_key: Optional[str] = None,
                 publishers: Optional[Mapping[str, Publisher]] = None,
                 tiktok_daily_cap: Optional[int] = None,
                 captions: Optional[CaptionGenerator] = None,
                 plans: Optional[Mapping[str, Any]] = None) -> "Engine": ...
    def register(self, *, email: str, password: str) -> User: ...
    def login(self, *, email: str, password: str) -> User: ...
    def me(self, *, user_id: UUID) -> User: ...
    def update_me(self, *, user_id: UUID, current_password: Optional[str] = None, email: Optional[str] = None,
                  password: Optional[str] = None, time_zone: Optional[str] = None,
                  pause_on: Optional[str] = None) -> User: ...
    def provision(self, *, email: str, external_platform_id: UUID, external_store_id: Optional[UUID] = None,
                  plan: Optional[str] = None) -> dict[str, Any]: ...
    def connect_account(self, *, user_id: UUID, platform: str, account_name: str, account_id_external: str,
                        access_token: Optional[str] = None, refresh_token: Optional[str] = None) -> Account: ...
    def list_accounts(self, *, user_id: UUID, page: int = 1, per_page: int = 20, after: Optional[str] = None) -> Page[Account]: ...
    def get_account(self, *, user_id: UUID, account_id: UUID) -> Account: ...
    def disconnect_account(self, *, user_id: UUID, account_id: UUID) -> Account: ...
    def create_post(self, *, user_id: UUID, account_id: UUID, content: str, media_urls: Sequence[str] = ...,
                    hashtags: Sequence[str] = ..., scheduled_for: Optional[datetime] = None,
                    allow_duplicate: bool = False) -> Post: ...
    def get_post(self, *, user_id: UUID, post_id: UUID) -> Post: ...
    def get_post_attempts(self, *, user_id: UUID, post_id: UUID) -> list[PublicationAttempt]: ...
    def update_post(self, *, user_id: UUID, post_id: UUID, content: Optional[str] = None,
                    media_urls: Optional[Sequence[str]] = None, hashtags: Optional[Sequence[str]] = None,
                    scheduled_for: Optional[datetime] = None, unschedule: bool = False,
                    allow_duplicate: bool = False) -> Post: ...
    def delete_post(self, *, user_id: UUID, post_id: UUID) -> None: ...
    def schedule_post(self, *, user_id: UUID, post_id: UUID, scheduled_for: datetime,
                      allow_duplicate: bool = False) -> Post: ...
    def queue_post(self, *, user_id: UUID, post_id: UUID, allow_duplicate: bool = False) -> Post: ...
    def pause_post(self, *, user_id: UUID, post_id: UUID, reason: str) -> Post: ...
    def resume_post(self, *, user_id: UUID, post_id: UUID, allow_duplicate: bool = False,
                    regenerate_caption: bool = False) -> Post: ...
    def import_posts(self, *, user_id: UUID, data: bytes | str, format: str = "csv",
                     mode: str = "all_or_nothing", kind: str = "posts",
                     background: bool = False) -> ImportReport: ...
    def get_import(self, *, user_id: UUID, import_id: UUID) -> ImportReport: ...
    def get_schedule(self, *, user_id: UUID, account_id: UUID) -> PostingSchedule: ...
    def set_schedule(self, *, user_id: UUID, account_id: UUID, slots: Sequence[str],
                     time_zone: Optional[str] = None) -> PostingSchedule: ...
    def slots(self, *, user_id: UUID, account_id: UUID, from_: datetime, to: datetime) -> SlotListing: ...
    def list_posts(self, *, user_id: UUID, status: Optional[str] = None, platform: Optional[str] = None,
                   page: int = 1, per_page: int = 20, after: Optional[str] = None) -> Page[Post]: ...
    def calendar(self, *, user_id: UUID, start_date: date, end_date: date, tz: str = "UTC") -> dict[str, list[Post]]: ...
    def create_queue_item(self, *, user_id: UUID, product_data: Mapping[str, Any], platforms: Sequence[str],
                          content: Optional[str] = None, hashtags: Sequence[str] = ...,
                          platform_captions: Optional[Mapping[str, Mapping[str, Any]]] = None) -> QueueItem: ...
    def generate(self, *, user_id: UUID, product_data: Mapping[str, Any], platforms: Sequence[str],
                 tone: str = "professional", template_id: Optional[UUID] = None) -> QueueItem: ...
    def create_template(self, *, user_id: UUID, name: str, body: str, platforms: Sequence[str] = ...,
                        tone: Optional[str] = None) -> Template: ...
    def get_template(self, *, user_id: UUID, template_id: UUID) -> Template: ...
    def list_templates(self, *, user_id: UUID, page: int = 1, per_page: int = 20, after: Optional[str] = None) -> Page[Template]: ...
    def update_template(self, *, user_id: UUID, template_id: UUID, name: Optional[str] = None,
                        body: Optional[str] = None, platforms: Optional[Sequence[str]] = None,
                        tone: Optional[str] = None, clear_tone: bool = False) -> Template: ...
    def delete_template(self, *, user_id: UUID, template_id: UUID) -> None: ...
    def approve(self, *, user_id: UUID, item_id: UUID, account_ids: Sequence[UUID],
                scheduled_for: Optional[datetime] = None, slot: Optional[str] = None) -> dict[str, Any]: ...
    def reject(self, *, user_id: UUID, item_id: UUID, reason: Optional[str] = None) -> QueueItem: ...
    def get_queue_item(self, *, user_id: UUID, item_id: UUID) -> QueueItem: ...
    def update_queue_item(self, *, user_id: UUID, item_id: UUID, ai_generated_content: Optional[str] = None,
                          hashtags: Optional[Sequence[str]] = None,
                          platform_captions: Optional[Mapping[str, Mapping[str, Any]]] = None,
                          platforms: Optional[Sequence[str]] = None,
                          product_data: Optional[Mapping[str, Any]] = None) -> QueueItem: ...
    def delete_queue_item(self, *, user_id: UUID, item_id: UUID) -> None: ...
    def regenerate(self, *, user_id: UUID, item_id: UUID, tone: Optional[str] = None) -> QueueItem: ...
    def list_queue(self, *, user_id: UUID, status: Optional[str] = None, page: int = 1, per_page: int = 20, after: Optional[str] = None) -> Page[QueueItem]: ...
    def analytics_overview(self, *, user_id: UUID) -> dict[str, Any]: ...
    def analytics_post(self, *, user_id: UUID, post_id: UUID) -> dict[str, Any]: ...
    def analytics_posts(self, *, user_id: UUID, page: int = 1, per_page: int = 20, after: Optional[str] = None) -> Page[dict[str, Any]]: ...
    def subscription(self, *, user_id: UUID) -> dict[str, Any]: ...
    def portal(self, *, user_id: UUID) -> str: ...
    def plans(self) -> list[dict[str, Any]]: ...
    def checkout(self, *, user_id: UUID, plan: str) -> dict[str, Any]: ...
    def create_api_key(self, *, user_id: UUID, name: str, scopes: Sequence[str] = ...) -> dict[str, Any]: ...
    def list_api_keys(self, *, user_id: UUID, page: int = 1, per_page: int = 20, after: Optional[str] = None) -> dict[str, Any]: ...
    def revoke_api_key(self, *, user_id: UUID, key_id: UUID) -> None: ...
    def create_webhook_endpoint(self, *, user_id: UUID, url: str, event_types: Sequence[str] = ...,
                                description: str = "") -> dict[str, Any]: ...
    def list_webhook_endpoints(self, *, user_id: UUID) -> list[dict[str, Any]]: ...
    def get_webhook_endpoint(self, *, user_id: UUID, endpoint_id: UUID) -> dict[str, Any]: ...
    def update_webhook_endpoint(self, *, user_id: UUID, endpoint_id: UUID, url: Optional[str] = None,
                                event_types: Optional[Sequence[str]] = None, description: Optional[str] = None,
                                enabled: Optional[bool] = None) -> dict[str, Any]: ...
    def rotate_webhook_endpoint_secret(self, *, user_id: UUID, endpoint_id: UUID) -> dict[str, Any]: ...
    def delete_webhook_endpoint(self, *, user_id: UUID, endpoint_id: UUID) -> None: ...
    def list_webhook_deliveries(self, *, user_id: UUID, endpoint_id: UUID, status: Optional[str] = None,
                                page: int = 1, per_page: int = 20, after: Optional[str] = None) -> dict[str, Any]: ...
    def resend_webhook_delivery(self, *, user_id: UUID, endpoint_id: UUID, delivery_id: UUID) -> dict[str, Any]: ...
    def configure_operator_endpoint(self, *, url: str, secret: str, event_types: Sequence[str] = ...) -> dict[str, Any]: ...
    def remove_operator_endpoint(self) -> None: ...
    def list_operator_deliveries(self, *, status: Optional[str] = None, page: int = 1, per_page: int = 20, after: Optional[str] = None) -> dict[str, Any]: ...
    def resend_operator_delivery(self, *, delivery_id: UUID) -> dict[str, Any]: ...
    def usage(self, *, user_id: UUID) -> dict[str, Any]: ...
    def run_due(self, *, retry_base_delay: float = 30.0, max_attempts: int = 5) -> dict[str, int]: ...
    def start_worker(self, *, poll_interval: float = 1.0, retry_base_delay: float = 30.0, max_attempts: int = 5) -> None: ...
    def stop_worker(self) -> Optional[dict[str, int]]: ...
