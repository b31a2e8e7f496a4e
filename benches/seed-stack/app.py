"""The seed's backend, rebuilt for one measurement (issue 18): benches/seed-compare.sh.

No code of the original seed exists; this file follows /work/shared/seed/ARCHITECTURE.md (the
seed's own description of itself) for the parts that register, sign-in, connecting an account,
GET /api/v1/posts and POST /api/v1/posts touch. Each section below is one file of the seed's
`backend/app/` tree, named in its heading, written the way a FastAPI + SQLAlchemy 2.0 (async)
project of that shape usually is: DeclarativeBase models with mapped columns, an
`async_sessionmaker`, services taking `(db, user, ...)`, a `get_current_user` dependency that
decodes the Bearer JWT and loads the user per request, pydantic v2 schemas.

What it leaves out: the content queue, analytics, billing, API-key management, webhooks,
Celery and Redis (none of them is on the path of the measured requests) and Alembic (the tables
are created with `create_all` at start-up). Nothing here is tuned beyond what the seed describes.

Run (benches/seed-compare-run.sh does this):

    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/seed JWT_SECRET_KEY=... \
      uvicorn app:app --app-dir benches/seed-stack --loop uvloop --http httptools
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import bcrypt
import jwt
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from pydantic_settings import BaseSettings
from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


# --- app/config.py: settings loaded from the environment -------------------------------------


class Settings(BaseSettings):
    database_url: str = "postgresql+asyncpg://postgres:postgres@localhost:5432/postpilot"
    jwt_secret_key: str = "change-me-in-production-change-me-in-production"
    jwt_algorithm: str = "HS256"
    access_token_expire_minutes: int = 30
    refresh_token_expire_days: int = 7
    cors_origins: list[str] = ["http://localhost:3000", "http://localhost:3001"]


settings = Settings()


# --- app/database.py: async engine + session factory ------------------------------------------

engine = create_async_engine(settings.database_url, echo=False, pool_size=20, max_overflow=10)
async_session_factory = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def get_db() -> AsyncGenerator[AsyncSession, None]:
    async with async_session_factory() as session:
        yield session


# --- app/models/*.py --------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def enum_values(enum_class: type[enum.Enum]) -> list[str]:
    # Store the lower-case values the architecture document lists ("free", "draft", ...).
    return [member.value for member in enum_class]


class Base(DeclarativeBase):
    pass


class PlanTier(str, enum.Enum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class SocialPlatform(str, enum.Enum):
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    TIKTOK = "tiktok"


class PostStatus(str, enum.Enum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    POSTED = "posted"
    FAILED = "failed"


class SubscriptionStatus(str, enum.Enum):
    ACTIVE = "active"
    TRIALING = "trialing"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    INCOMPLETE = "incomplete"


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    plan: Mapped[PlanTier] = mapped_column(
        Enum(PlanTier, name="plantier", values_callable=enum_values), default=PlanTier.FREE
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    external_platform_id: Mapped[uuid.UUID | None]
    external_store_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    subscription: Mapped[Subscription | None] = relationship(back_populates="user", uselist=False)


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[SubscriptionStatus] = mapped_column(
        Enum(SubscriptionStatus, name="subscriptionstatus", values_callable=enum_values),
        default=SubscriptionStatus.ACTIVE,
    )
    plan: Mapped[PlanTier] = mapped_column(
        Enum(PlanTier, name="plantier", values_callable=enum_values), default=PlanTier.FREE
    )
    current_period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    user: Mapped[User] = relationship(back_populates="subscription")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String), default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    owner: Mapped[User] = relationship(backref="api_keys")


class SocialAccount(Base):
    __tablename__ = "social_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    platform: Mapped[SocialPlatform] = mapped_column(
        Enum(SocialPlatform, name="socialplatform", values_callable=enum_values)
    )
    account_name: Mapped[str] = mapped_column(String(255))
    account_id_external: Mapped[str] = mapped_column(String(255))
    access_token_enc: Mapped[str | None] = mapped_column(String(1024))
    refresh_token_enc: Mapped[str | None] = mapped_column(String(1024))
    is_connected: Mapped[bool] = mapped_column(Boolean, default=True)
    connected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    owner: Mapped[User] = relationship(backref="social_accounts")
    posts: Mapped[list[Post]] = relationship(back_populates="account")


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # No index on user_id or created_at: the document indexes only scheduled_for on this table.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("social_accounts.id"))
    content: Mapped[str] = mapped_column(Text)
    media_urls: Mapped[list[str]] = mapped_column(ARRAY(String), default=list)
    hashtags: Mapped[list[str]] = mapped_column(ARRAY(String), default=list)
    platform: Mapped[str] = mapped_column(String(50))
    status: Mapped[PostStatus] = mapped_column(
        Enum(PostStatus, name="poststatus", values_callable=enum_values), default=PostStatus.DRAFT
    )
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    account: Mapped[SocialAccount] = relationship(back_populates="posts")
    metrics: Mapped[PostMetrics | None] = relationship(back_populates="post", uselist=False)


class PostMetrics(Base):
    __tablename__ = "post_metrics"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    post_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("posts.id"), unique=True)
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    reach: Mapped[int] = mapped_column(Integer, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    shares: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    post: Mapped[Post] = relationship(back_populates="metrics")


# --- app/constants/plans.py -------------------------------------------------------------------


@dataclass(frozen=True)
class PlanLimits:
    max_items: int  # posts a calendar month; -1 is unlimited
    max_secondary: int  # connected social accounts; -1 is unlimited
    api_access: bool


PLAN_LIMITS: dict[PlanTier, PlanLimits] = {
    PlanTier.FREE: PlanLimits(max_items=10, max_secondary=1, api_access=False),
    PlanTier.PRO: PlanLimits(max_items=200, max_secondary=10, api_access=True),
    PlanTier.ENTERPRISE: PlanLimits(max_items=-1, max_secondary=-1, api_access=True),
}


# --- app/schemas/auth.py and app/schemas/social.py ---------------------------------------------


class RegisterRequest(BaseModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=128)


class LoginRequest(BaseModel):
    email: EmailStr
    password: str


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"


class UserResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    plan: PlanTier
    created_at: datetime


class SocialAccountCreate(BaseModel):
    platform: SocialPlatform
    account_name: str = Field(min_length=1, max_length=255)
    account_id_external: str = Field(min_length=1, max_length=255)


class SocialAccountResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    platform: SocialPlatform
    account_name: str
    account_id_external: str
    is_connected: bool
    connected_at: datetime | None
    created_at: datetime


class PostCreate(BaseModel):
    account_id: uuid.UUID
    content: str = Field(min_length=1)
    platform: SocialPlatform
    media_urls: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    scheduled_for: datetime | None = None


class PostResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    account_id: uuid.UUID
    content: str
    media_urls: list[str]
    hashtags: list[str]
    platform: str
    status: PostStatus
    scheduled_for: datetime | None
    posted_at: datetime | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime


class PostListResponse(BaseModel):
    items: list[PostResponse]
    total: int
    page: int
    per_page: int


# --- app/services/auth_service.py -------------------------------------------------------------


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def verify_password(password: str, hashed: str) -> bool:
    return bcrypt.checkpw(password.encode(), hashed.encode())


def create_access_token(user_id: uuid.UUID) -> str:
    expire = utcnow() + timedelta(minutes=settings.access_token_expire_minutes)
    payload = {"sub": str(user_id), "exp": expire, "type": "access"}
    return jwt.encode(payload, settings.jwt_secret_key, algorithm=settings.jwt_algorithm)


def create_refresh_token(user_id: uuid.UUID) -> str:
    expire = utcnow() + timedelta(days=settings.refresh_token_expire_days)
    payload = {"sub": str(user_id), "exp": expire, "type": "refresh"}
    return jwt.encode(payload, settings.jwt_secret_key, algorithm=settings.jwt_algorithm)


def decode_token(token: str) -> dict | None:
    try:
        return jwt.decode(token, settings.jwt_secret_key, algorithms=[settings.jwt_algorithm])
    except jwt.PyJWTError:
        return None


async def register_user(db: AsyncSession, email: str, password: str) -> User:
    existing = await db.execute(select(User).where(User.email == email))
    if existing.scalar_one_or_none() is not None:
        raise ValueError("Email already registered")
    user = User(email=email, hashed_password=hash_password(password), plan=PlanTier.FREE)
    db.add(user)
    await db.commit()
    await db.refresh(user)
    return user


async def authenticate_user(db: AsyncSession, email: str, password: str) -> User | None:
    result = await db.execute(select(User).where(User.email == email))
    user = result.scalar_one_or_none()
    if user is None or not verify_password(password, user.hashed_password):
        return None
    return user


async def get_user_by_id(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    result = await db.execute(select(User).where(User.id == user_id))
    return result.scalar_one_or_none()


async def authenticate_api_key(db: AsyncSession, raw_key: str) -> User | None:
    key_hash = hashlib.sha256(raw_key.encode()).hexdigest()
    result = await db.execute(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.is_active.is_(True))
    )
    api_key = result.scalar_one_or_none()
    if api_key is None:
        return None
    api_key.last_used_at = utcnow()
    await db.commit()
    user = await get_user_by_id(db, api_key.user_id)
    if user is None or not PLAN_LIMITS[user.plan].api_access:
        return None
    return user


# --- app/services/account_service.py ----------------------------------------------------------


async def connect_account(
    db: AsyncSession,
    user: User,
    platform: SocialPlatform,
    account_name: str,
    account_id_external: str,
) -> SocialAccount:
    limits = PLAN_LIMITS[user.plan]
    if limits.max_secondary != -1:
        connected = await db.execute(
            select(func.count())
            .select_from(SocialAccount)
            .where(SocialAccount.user_id == user.id, SocialAccount.is_connected.is_(True))
        )
        if connected.scalar_one() >= limits.max_secondary:
            raise ValueError(f"Plan limit reached: {limits.max_secondary} connected accounts")
    # Mock OAuth: the seed stores generated tokens instead of real ones.
    account = SocialAccount(
        user_id=user.id,
        platform=platform,
        account_name=account_name,
        account_id_external=account_id_external,
        access_token_enc=f"mock_access_{uuid.uuid4().hex}",
        refresh_token_enc=f"mock_refresh_{uuid.uuid4().hex}",
        is_connected=True,
        connected_at=utcnow(),
    )
    db.add(account)
    await db.commit()
    await db.refresh(account)
    return account


# --- app/services/post_service.py -------------------------------------------------------------


async def create_post(
    db: AsyncSession,
    user: User,
    account_id: uuid.UUID,
    content: str,
    platform: str,
    media_urls: list[str] | None = None,
    hashtags: list[str] | None = None,
    scheduled_for: datetime | None = None,
) -> Post:
    # max_items: posts created this calendar month; -1 (enterprise) is unlimited, so no count.
    limits = PLAN_LIMITS[user.plan]
    if limits.max_items != -1:
        now = utcnow()
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        result = await db.execute(
            select(func.count())
            .select_from(Post)
            .where(Post.user_id == user.id, Post.created_at >= month_start)
        )
        if result.scalar_one() >= limits.max_items:
            raise ValueError(f"Plan limit reached: {limits.max_items} posts per month")

    result = await db.execute(
        select(SocialAccount).where(
            SocialAccount.id == account_id, SocialAccount.user_id == user.id
        )
    )
    account = result.scalar_one_or_none()
    if account is None:
        raise ValueError("Social account not found")

    post = Post(
        user_id=user.id,
        account_id=account_id,
        content=content,
        platform=platform,
        media_urls=media_urls or [],
        hashtags=hashtags or [],
        status=PostStatus.SCHEDULED if scheduled_for else PostStatus.DRAFT,
        scheduled_for=scheduled_for,
    )
    db.add(post)
    await db.commit()
    await db.refresh(post)
    return post


async def list_posts(
    db: AsyncSession,
    user: User,
    page: int = 1,
    per_page: int = 20,
    status: PostStatus | None = None,
    platform: str | None = None,
) -> tuple[list[Post], int]:
    query = select(Post).where(Post.user_id == user.id)
    count_query = select(func.count()).select_from(Post).where(Post.user_id == user.id)
    if status is not None:
        query = query.where(Post.status == status)
        count_query = count_query.where(Post.status == status)
    if platform is not None:
        query = query.where(Post.platform == platform)
        count_query = count_query.where(Post.platform == platform)

    total = (await db.execute(count_query)).scalar_one()
    query = query.order_by(Post.created_at.desc()).offset((page - 1) * per_page).limit(per_page)
    result = await db.execute(query)
    return list(result.scalars().all()), total


# --- app/api/deps.py: auth dependencies (JWT + API key) ----------------------------------------

security = HTTPBearer(auto_error=False)


async def get_current_user(
    credentials: HTTPAuthorizationCredentials | None = Depends(security),
    x_api_key: str | None = Header(default=None),
    db: AsyncSession = Depends(get_db),
) -> User:
    unauthorized = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if x_api_key:
        user = await authenticate_api_key(db, x_api_key)
        if user is None:
            raise unauthorized
        return user
    if credentials is None:
        raise unauthorized
    payload = decode_token(credentials.credentials)
    if payload is None or payload.get("type") != "access":
        raise unauthorized
    try:
        user_id = uuid.UUID(payload.get("sub", ""))
    except ValueError:
        raise unauthorized from None
    user = await get_user_by_id(db, user_id)
    if user is None:
        raise unauthorized
    return user


# --- app/api/auth.py --------------------------------------------------------------------------

auth_router = APIRouter(prefix="/auth", tags=["auth"])


@auth_router.post("/register", response_model=TokenResponse, status_code=status.HTTP_201_CREATED)
async def register(body: RegisterRequest, db: AsyncSession = Depends(get_db)) -> TokenResponse:
    try:
        user = await register_user(db, body.email, body.password)
    except ValueError as e:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=str(e)) from e
    return TokenResponse(
        access_token=create_access_token(user.id), refresh_token=create_refresh_token(user.id)
    )


@auth_router.post("/login", response_model=TokenResponse)
async def login(body: LoginRequest, db: AsyncSession = Depends(get_db)) -> TokenResponse:
    user = await authenticate_user(db, body.email, body.password)
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED, detail="Invalid email or password"
        )
    return TokenResponse(
        access_token=create_access_token(user.id), refresh_token=create_refresh_token(user.id)
    )


@auth_router.get("/me", response_model=UserResponse)
async def me(current_user: User = Depends(get_current_user)) -> User:
    return current_user


# --- app/api/accounts.py ----------------------------------------------------------------------

accounts_router = APIRouter(prefix="/accounts", tags=["accounts"])


@accounts_router.post(
    "", response_model=SocialAccountResponse, status_code=status.HTTP_201_CREATED
)
async def connect(
    body: SocialAccountCreate,
    current_user: User = Depends(get_current_user),
    db: AsyncSession = Depends(get_db),
) -> SocialAccount:
    try:
        return await connect_account(
            db, current_user, body.platform, body.account_name, body.account_id_external
        )
    except ValueError as e:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=str(e)) from e


# --- app/api/posts.py -------------------------------------------------------------------------

posts_router = APIRouter(prefix="/posts", tags=["posts"])


@posts_router.post("", response_model=PostResponse, status_code=status.HTTP_201_CREATED)
async def create(
    body: PostCreate,
    current_user: User = Depends(get_current_user),
    db: AsyncSession = Depends(get_db),
) -> Post:
    try:
        return await create_post(
            db,
            current_user,
            account_id=body.account_id,
            content=body.content,
            platform=body.platform.value,
            media_urls=body.media_urls,
            hashtags=body.hashtags,
            scheduled_for=body.scheduled_for,
        )
    except ValueError as e:
        detail = str(e)
        code = status.HTTP_403_FORBIDDEN if "limit" in detail else status.HTTP_404_NOT_FOUND
        raise HTTPException(status_code=code, detail=detail) from e


@posts_router.get("", response_model=PostListResponse)
async def list_(
    page: int = Query(1, ge=1),
    per_page: int = Query(20, ge=1, le=100),
    status_filter: PostStatus | None = Query(None, alias="status"),
    platform: str | None = Query(None),
    current_user: User = Depends(get_current_user),
    db: AsyncSession = Depends(get_db),
) -> PostListResponse:
    posts, total = await list_posts(db, current_user, page, per_page, status_filter, platform)
    return PostListResponse(
        items=[PostResponse.model_validate(p) for p in posts],
        total=total,
        page=page,
        per_page=per_page,
    )


# --- app/api/health.py ------------------------------------------------------------------------

health_router = APIRouter(tags=["health"])


@health_router.get("/health")
async def health(db: AsyncSession = Depends(get_db)) -> dict[str, str]:
    await db.execute(text("SELECT 1"))
    return {"status": "healthy", "database": "connected"}


# --- app/api/__init__.py and app/main.py ------------------------------------------------------

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(health_router)
api_router.include_router(auth_router)
api_router.include_router(accounts_router)
api_router.include_router(posts_router)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncGenerator[None, None]:
    # The seed migrates with Alembic; here the same tables come from the models directly.
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(title="PostPilot", version="1.0.0", lifespan=lifespan)
app.add_middleware(
    CORSMiddleware,
    allow_origins=settings.cors_origins,
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)
app.include_router(api_router)
