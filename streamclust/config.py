"""Settings: one frozen tree of pydantic models, read from a YAML preset and ``STREAMCLUST_*`` environment overrides.

Precedence, highest first: keyword arguments, environment (``STREAMCLUST_CLUSTER__RADIUS_K=2.5``), the YAML file,
the defaults below. Core classes never read Settings: ``Engine.from_settings`` translates sections into keyword
arguments, so the core stays testable without configuration files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from streamclust.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InputSettings(Section):
    """Where the fields of a post are in the user's JSON (dotted paths such as ``payload.body``)."""

    id_field: str = "id"
    text_field: str = "text"
    timestamp_field: str = "timestamp"
    source_field: str = "source"
    max_text_chars: int = Field(default=20_000, gt=0, description="longer texts are rejected as too large")


class FeaturizeSettings(Section):
    """Text to vectors: the autoencoder's input.

    The built-in default is ``hashing`` because it needs no model; every preset in ``configs/`` chooses
    ``static``, which clusters better (docs/quality.md).
    """

    kind: Literal["hashing", "static", "hybrid"] = "hashing"
    n_features: int = Field(default=2**15, ge=256, le=2**22, description="hashed feature buckets")
    ngram_max: int = Field(default=2, ge=1, le=3)
    idf_half_life_posts: int = Field(
        default=50_000, gt=0, description="document frequencies halve this often"
    )
    static_model: str = Field(
        default="minilm-distilled",
        description="a model2vec model folder, or 'minilm-distilled' to distill the packaged MiniLM once",
    )
    static_dims: int = Field(default=256, ge=16, le=768)
    hybrid_lexical_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    cache_dir: Path | None = Field(default=None, description="defaults to ~/.cache/streamclust")


class EncoderSettings(Section):
    """The autoencoder, its reservoir and when it is retrained."""

    latent_dim: int = Field(default=64, ge=2, le=1024)
    hidden_dim: int = Field(default=256, ge=4, le=4096)
    warmup_posts: int = Field(default=2000, ge=10)
    reservoir_size: int = Field(default=10_000, ge=100)
    recency_bias: float = Field(
        default=0.2, ge=0.0, le=1.0, description="0 = uniform reservoir, 1 = newest only"
    )
    epochs: int = Field(default=20, ge=1, le=1000)
    retrain_epochs: int = Field(
        default=4, ge=1, le=1000, description="epochs of a retrain (it continues from the current weights)"
    )
    batch_size: int = Field(default=256, ge=8)
    learning_rate: float = Field(default=3e-3, gt=0)
    retrain_every_posts: int = Field(default=50_000, ge=0, description="0 turns periodic retraining off")
    retrain_every_seconds: float = Field(default=0.0, ge=0, description="0 turns timed retraining off")
    swap_after_posts: int = Field(
        default=2_000,
        ge=0,
        description="a retrain is swapped in no sooner than this many posts after it started",
    )
    swap: Literal["when_ready", "at_position"] = Field(
        default="when_ready",
        description="'when_ready': at the first batch after training finished (never stalls the stream); "
        "'at_position': exactly swap_after_posts posts later, waiting for training if needed (reproducible runs)",
    )
    drift_detector: Literal["adwin", "page_hinkley", "off"] = "adwin"
    drift_delta: float = Field(default=0.002, gt=0, lt=1)
    background: bool = Field(default=True, description="train in a background thread")


class ClusterSettings(Section):
    """Assignment and centroid updates."""

    index: Literal["auto", "flat", "hnsw", "ivf"] = "auto"
    flat_max_clusters: int = Field(default=512, ge=1, description="'auto' switches to HNSW above this")
    half_life_posts: int = Field(
        default=2_000, ge=1, description="sets the floor of a centroid's learning rate"
    )
    count_half_life_posts: int = Field(default=200_000, ge=1, description="cluster counts halve this often")
    radius_k: float = Field(default=3.0, gt=0, description="outlier if similarity < mean - k*std of members")
    radius_floor: float = Field(default=0.35, ge=-1, le=1, description="never accept below this similarity")
    radius_ceiling: float = Field(default=0.85, ge=-1, le=1, description="always accept above this")
    newborn_std: float = Field(
        default=0.08, ge=0, le=1, description="a new cluster's similarity spread is taken as at least this"
    )


class NoveltySettings(Section):
    """Outlier buffer and the density search that turns dense groups of outliers into new clusters."""

    buffer_size: int = Field(default=3_000, ge=10)
    min_cluster_size: int = Field(default=5, ge=2)
    min_neighbors: int = Field(default=3, ge=1, description="neighbours that make a core point")
    neighbor_similarity: float | Literal["auto"] = Field(
        default="auto",
        description="similarity that makes two buffered posts neighbours; 'auto' takes a quantile of the "
        "similarity of each recent post to its min_neighbors-th nearest neighbour (a k-distance estimate)",
    )
    auto_neighbor_quantile: float = Field(default=0.5, gt=0, lt=1)
    auto_neighbor_max: float = Field(
        default=0.9,
        ge=-1,
        le=1,
        description="the 'auto' estimate never exceeds this (near-duplicate streams)",
    )

    @model_validator(mode="after")
    def _similarity_in_range(self) -> NoveltySettings:
        if self.neighbor_similarity != "auto" and not -1.0 <= self.neighbor_similarity <= 1.0:
            raise ValueError(
                f"neighbor_similarity = {self.neighbor_similarity} must be 'auto' or a cosine similarity in [-1, 1]"
            )
        return self

    outlier_ttl_posts: int = Field(default=30_000, ge=1)
    search_every_posts: int = Field(default=100, ge=1)
    candidate_k: float | None = Field(
        default=1.0,
        gt=0,
        description="members below mean - candidate_k*std of their cluster also enter the buffer (None: only outliers)",
    )


class LifecycleSettings(Section):
    merge_similarity: float = Field(default=0.92, ge=-1, le=1)
    retire_after_posts: int = Field(default=200_000, ge=1, description="retire clusters unseen this long")
    max_clusters: int = Field(default=2_000, ge=1)
    keywords_top_k: int = Field(default=8, ge=1, le=50)


class KafkaSettings(Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    input_topic: str = "posts"
    labels_topic: str = "post-labels"
    events_topic: str = "cluster-events"
    catalog_topic: str = "cluster-catalog"
    deadletter_topic: str = "posts-deadletter"
    state_topic: str = "streamclust-state"
    group_id: str = "streamclust"
    transactional_id: str = Field(default="streamclust-worker", description="unique per worker instance")
    batch_size: int = Field(default=500, ge=1)
    max_wait_ms: int = Field(default=500, ge=1)
    create_topics: bool = True
    topic_partitions: int = Field(default=3, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not (self.sasl_mechanism and self.sasl_username):
            raise ValueError(
                f"security_protocol {self.security_protocol} needs kafka.sasl_mechanism and kafka.sasl_username "
                "(and kafka.sasl_password, best given as STREAMCLUST_KAFKA__SASL_PASSWORD)"
            )
        return self


class StateSettings(Section):
    """Checkpoints of the whole model state: how often, how many are kept, how they are cut for Kafka."""

    checkpoint_every_posts: int = Field(
        default=20_000, ge=1, description="a checkpoint after at most this many posts learned from"
    )
    checkpoint_every_seconds: float = Field(
        default=60.0, gt=0, description="and at least this often (seconds) while posts arrive"
    )
    keep: int = Field(default=3, ge=1, le=100, description="checkpoints kept in a state directory")
    chunk_bytes: int = Field(
        default=512_000,
        ge=1_024,
        le=8_000_000,
        description="a checkpoint is cut into state-topic records of at most this many bytes",
    )


class HttpSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, le=65535)


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    format: Literal["json", "text"] = "json"


class Settings(BaseSettings):
    """Everything streamclust can be told. See ``configs/`` for presets."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMCLUST_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    seed: int = 0
    threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="torch and FAISS threads; 1 is fastest for small batches on few cores",
    )
    state_dir: Path | None = Field(default=None, description="file-mode checkpoints go here when set")
    input: InputSettings = InputSettings()
    featurize: FeaturizeSettings = FeaturizeSettings()
    encoder: EncoderSettings = EncoderSettings()
    cluster: ClusterSettings = ClusterSettings()
    novelty: NoveltySettings = NoveltySettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    kafka: KafkaSettings = KafkaSettings()
    state: StateSettings = StateSettings()
    http: HttpSettings = HttpSettings()
    logging: LoggingSettings = LoggingSettings()


class _YamlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; pass one of the presets in configs/") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, not {type(data).__name__}")
    return data


def describe_validation_error(error: ValidationError, origin: str) -> str:
    lines = [f"invalid settings in {origin}:"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        value = problem.get("input")
        shown = "<missing>" if problem["type"] == "missing" else repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        lines.append(f"  {key} = {shown}: {problem['msg']}")
    lines.append("Fix the value in the YAML file or the STREAMCLUST_* environment variable that sets it.")
    return "\n".join(lines)


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Build Settings from an optional YAML file, the environment and keyword overrides."""
    data = read_yaml(Path(path)) if path is not None else {}

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _YamlSource(settings_cls, data))

    try:
        loaded = _Loaded(**overrides)
    except ValidationError as error:
        origin = (
            f"{path} or the STREAMCLUST_* environment"
            if path is not None
            else "the STREAMCLUST_* environment"
        )
        raise ConfigError(describe_validation_error(error, origin)) from None
    return Settings.model_validate(loaded.model_dump())
