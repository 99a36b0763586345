"""Settings: one frozen tree of pydantic models, read from a YAML preset and ``STREAMCLUST_*`` environment overrides.

Precedence, highest first: keyword arguments, environment (``STREAMCLUST_CLUSTER__JOIN_FRACTION=0.55``), the YAML
file, the defaults below. A misspelt variable or key is an error (``streamclust.config_check``). Core classes never
read Settings: ``Engine.from_settings`` translates sections into keyword arguments, so the core stays testable
without configuration files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from streamclust.config_check import Origins, YamlKeys, unknown_environment_names, unknown_yaml_keys
from streamclust.errors import ConfigError
from streamclust.redact import MASK, is_secret_name, redacted


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InputSettings(Section):
    """Where the fields of a post are in the user's JSON (dotted paths such as ``payload.body``)."""

    id_field: str = Field(
        default="id", description="the post id's field (a dotted path in JSON, a column in CSV)"
    )
    text_field: str = Field(default="text", description="the field holding the text to cluster")
    timestamp_field: str = Field(
        default="timestamp",
        description="the post's time, optional (unix seconds or milliseconds, or ISO 8601)",
    )
    source_field: str = Field(
        default="source", description="where the post came from, optional (kept with the post)"
    )
    max_text_chars: int = Field(default=20_000, gt=0, description="longer texts are rejected as too large")


class FeaturizeSettings(Section):
    """Text to vectors: the autoencoder's input.

    The built-in default is ``static``, as in every preset in ``configs/``: it clusters far better than
    ``hashing`` (docs/quality.md). ``hashing`` needs no model (nothing to distill on the first run).
    """

    kind: Literal["hashing", "static", "hybrid"] = Field(
        default="static",
        description="'hashing' (lexical, no model, fastest), 'static' (distilled MiniLM embeddings) or 'hybrid'",
    )
    n_features: int = Field(default=2**15, ge=256, le=2**22, description="hashed feature buckets")
    ngram_max: int = Field(default=2, ge=1, le=3, description="longest word n-gram of the lexical features")
    idf_half_life_posts: int = Field(
        default=50_000, gt=0, description="document frequencies halve this often"
    )
    static_model: str = Field(
        default="minilm-distilled",
        description="a model2vec model folder, or 'minilm-distilled' to distill the packaged MiniLM once",
    )
    static_dims: int = Field(default=256, ge=16, le=768, description="dimensions of the static embeddings")
    hybrid_lexical_weight: float = Field(
        default=0.5, ge=0.0, le=1.0, description="share of the lexical part in hybrid features"
    )
    cache_dir: Path | None = Field(default=None, description="defaults to ~/.cache/streamclust")


class EncoderSettings(Section):
    """The autoencoder, its reservoir and when it is retrained."""

    latent_dim: int = Field(
        default=256,
        ge=2,
        le=1024,
        description="size of the autoencoder's embedding, in which posts are clustered",
    )
    hidden_dim: int = Field(default=256, ge=4, le=4096, description="width of the autoencoder's hidden layer")
    structure_weight: float = Field(
        default=10.0,
        ge=0,
        description="weight of the training term that gives posts the cosines the teacher (or, without one, "
        "the features) gives them",
    )
    teacher: Literal["minilm", "none"] = Field(
        default="minilm",
        description="sentence encoder whose cosines the first model learns on the warm-up posts (dense features "
        "only; 'none': the features' own cosines)",
    )
    teacher_posts: int = Field(
        default=500,
        ge=2,
        description="warm-up posts the teacher embeds, spread evenly over them (it runs at about 100 posts/s on "
        "2 cores, so this sets most of the warm-up's time)",
    )
    warmup_posts: int = Field(
        default=2000,
        ge=10,
        description="posts held back until the first model is trained (they are labelled then)",
    )
    reservoir_size: int = Field(
        default=10_000, ge=100, description="posts kept to retrain on (a recency-biased sample of the stream)"
    )
    recency_bias: float = Field(
        default=0.2, ge=0.0, le=1.0, description="0 = uniform reservoir, 1 = newest only"
    )
    epochs: int = Field(default=20, ge=1, le=1000, description="epochs of the first training")
    retrain_epochs: int = Field(
        default=4, ge=1, le=1000, description="epochs of a retrain (it continues from the current weights)"
    )
    batch_size: int = Field(default=256, ge=8, description="training mini-batch size")
    learning_rate: float = Field(default=3e-3, gt=0, description="Adam's learning rate")
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
    drift_detector: Literal["adwin", "page_hinkley", "off"] = Field(
        default="adwin",
        description="watches the share of posts that no cluster takes ('off': no drift detection)",
    )
    retrain_on_drift: bool = Field(
        default=False,
        description="start a retrain when the drift detector fires (off: a drift is only reported, as a metric "
        "and in the batch stats; docs/quality.md has the numbers behind the default)",
    )
    drift_delta: float = Field(
        default=0.002,
        gt=0,
        lt=1,
        description="the drift detector's delta (ADWIN: confidence; Page-Hinkley: tolerated change)",
    )
    background: bool = Field(default=True, description="train in a background thread")


class ClusterSettings(Section):
    """Assignment and centroid updates."""

    index: Literal["auto", "flat", "hnsw", "ivf"] = Field(
        default="auto",
        description="FAISS index of the centroids; 'auto' is exact (flat) up to flat_max_clusters, then HNSW",
    )
    flat_max_clusters: int = Field(
        default=20_000,
        ge=1,
        description="'auto' switches to HNSW above this many clusters (below it, rebuilding and searching a flat "
        "index every batch is faster: benchmarks/index_crossover.py)",
    )
    half_life_posts: int = Field(
        default=2_000, ge=1, description="sets the floor of a centroid's learning rate"
    )
    count_half_life_posts: int = Field(default=200_000, ge=1, description="cluster counts halve this often")
    semantic_weight: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="weight of the latent cosine in a post's similarity to a cluster; the rest is the cosine of "
        "its TF-IDF words to the cluster's (online IDF, docs/quality.md)",
    )
    join_similarity: float | Literal["auto"] = Field(
        default="auto",
        description="a post joins its most similar cluster at this similarity or more; below it, it opens a "
        "provisional cluster of its own. 'auto': join_fraction of the median similarity of each warm-up post to "
        "its 10th nearest neighbour",
    )
    join_fraction: float = Field(
        default=0.57, gt=0, le=1, description="the share of the neighbour similarity that 'auto' joins at"
    )
    size_leniency: float = Field(
        default=2.0,
        ge=0,
        le=4,
        description="how much lower the join bar is for a cluster of few members, whose mean a post of its topic "
        "is expected to be less similar to (cluster/join_similarity.py: JoinBar); 0: the same bar for every "
        "cluster",
    )
    size_prior: float = Field(
        default=0.25,
        ge=0,
        le=2,
        description="when several clusters take a post, a big cluster that is one broad topic is preferred by this "
        "share of the join similarity per doubling of its members (cluster/broad_topics.py); 0: off",
    )
    broad_split_ratio: float = Field(
        default=0.35,
        gt=0,
        le=2,
        description="a cluster is one broad topic when its latest members split in two with a margin below this "
        "share of their spread (cluster/shape.py), and counts as one while such clusters hold most of the stream",
    )
    settle_passes: int = Field(
        default=2,
        ge=0,
        le=10,
        description="rounds in which each batch's posts move to the cluster or new group they fit best as the "
        "batch leaves them (a local k-means over the batch; 0: off)",
    )

    @model_validator(mode="after")
    def _join_similarity_in_range(self) -> ClusterSettings:
        if self.join_similarity != "auto" and not -1.0 <= self.join_similarity <= 1.0:
            raise ValueError(
                f"join_similarity = {self.join_similarity} must be 'auto' or a similarity in [-1, 1]"
            )
        return self

    newborn_std: float = Field(
        default=0.08, ge=0, le=1, description="a new cluster's similarity spread is taken as at least this"
    )


class NoveltySettings(Section):
    """New topics. A post no cluster takes opens a provisional cluster at once (with the posts of its batch like
    it); the cluster is confirmed, with a ``created`` event, once it is dense enough to hold
    ``min_cluster_size`` posts, and retired unannounced if nobody joins it for ``provisional_ttl_posts``."""

    min_cluster_size: int = Field(
        default=4, ge=2, description="posts a provisional cluster needs to be confirmed as a new topic"
    )
    provisional_ttl_posts: int = Field(
        default=5_000, ge=1, description="a provisional cluster nobody joins for this many posts is retired"
    )
    fringe_std: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description="a post that a big cluster takes at a latent similarity this many standard deviations below "
        "its members' mean is on its fringe, and may open a new cluster with other fringe posts of its batch "
        "like it (a new topic taking over an old cluster; 0: off)",
    )
    fringe_min_members: int = Field(
        default=100,
        ge=1,
        description="members a cluster needs before its fringe counts (its similarities' spread is known)",
    )


class LifecycleSettings(Section):
    """Merging, retiring and capping clusters. Two clusters merge when the members of the smaller are, on
    average, as similar to the other as its own members are: no threshold of its own."""

    retire_after_posts: int = Field(default=200_000, ge=1, description="retire clusters unseen this long")
    max_clusters: int = Field(
        default=2_000, ge=1, description="the smallest clusters beyond this many are retired"
    )
    keywords_top_k: int = Field(default=8, ge=1, le=50, description="keywords kept per cluster")


class KafkaSettings(Section):
    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="host:port of one or more brokers, comma-separated"
    )
    input_topic: str = Field(default="posts", description="the posts to cluster (JSON objects)")
    labels_topic: str = Field(
        default="post-labels", description="one label record per post, keyed by post id"
    )
    events_topic: str = Field(
        default="cluster-events",
        description="cluster events (created, updated, merged, retired), keyed by cluster id",
    )
    catalog_topic: str = Field(
        default="cluster-catalog",
        description="the latest entry of every cluster (compacted), keyed by cluster id",
    )
    deadletter_topic: str = Field(
        default="posts-deadletter",
        description="records that could not be labelled, with the reason and the original bytes (the first 64 KiB)",
    )
    state_topic: str = Field(
        default="streamclust-state", description="the Kafka worker's model checkpoints (compacted)"
    )
    group_id: str = Field(default="streamclust", description="consumer group of the workers")
    transactional_id: str = Field(default="streamclust-worker", description="unique per worker instance")
    batch_size: int = Field(default=500, ge=1, description="records read per batch (one transaction each)")
    max_wait_ms: int = Field(default=500, ge=1, description="longest wait for a batch to fill")
    overlap_commits: bool = Field(
        default=True,
        description="under load, read and cluster the next batch while the committer process commits the last "
        "one (false: wait for every commit)",
    )
    max_transaction_retries: int = Field(
        default=8,
        ge=0,
        description="tries of a failed batch transaction (not a fence or a rebalance) after the first, with a "
        "pause from 0.5 s doubling to 30 s; then the worker stops (not ready meanwhile)",
    )
    create_topics: bool = Field(
        default=True,
        description="create missing topics at start (false: stop and list the commands to create them)",
    )
    topic_partitions: int = Field(default=3, ge=1, description="partitions of the topics streamclust creates")
    replication_factor: int = Field(default=1, ge=1, description="replicas of the topics streamclust creates")
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        default="earliest", description="where a new consumer group starts reading the input"
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="how to connect to the brokers"
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="SASL mechanism, for the SASL protocols"
    )
    sasl_username: str | None = Field(default=None, description="SASL user name")
    sasl_password: SecretStr | None = Field(
        default=None, description="SASL password; give it as STREAMCLUST_KAFKA__SASL_PASSWORD, not in a file"
    )
    ssl_cafile: Path | None = Field(
        default=None, description="CA certificate (PEM) that signed the brokers' certificates"
    )
    ssl_certfile: Path | None = Field(default=None, description="client certificate (PEM), for mutual TLS")
    ssl_keyfile: Path | None = Field(default=None, description="the client certificate's private key (PEM)")

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


class ScaleSettings(Section):
    """Solo (one worker learns and labels) or shared (many labelers, one elected trainer); docs/architecture.md."""

    mode: Literal["solo", "shared"] = Field(
        default="solo",
        description="'shared': the workers of kafka.group_id label with the model that one elected trainer "
        "publishes to kafka.state_topic",
    )
    publish_every_seconds: float = Field(
        default=10.0, gt=0, description="shared mode: the trainer publishes the model at least this often"
    )
    publish_on_change_seconds: float = Field(
        default=2.0,
        ge=0,
        description="shared mode: after a new cluster, a merge or a retrain the trainer publishes at once, "
        "but no more often than this",
    )


class HttpSettings(Section):
    enabled: bool = Field(default=True, description="serve /metrics, /healthz, /readyz and /clusters")
    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=9464, ge=0, le=65535, description="port to listen on")


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        description="log level (logs go to standard error); INFO says what the worker does, every few seconds",
    )
    format: Literal["auto", "plain", "json"] = Field(
        default="auto",
        description="'plain' lines for people, 'json' for log collectors; 'auto': plain on a terminal, else json",
    )


class Settings(BaseSettings):
    """Everything streamclust can be told. See ``configs/`` for presets."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMCLUST_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    seed: int = Field(
        default=0, description="seed of every random choice (reservoir, training, stream orders)"
    )
    threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="torch, FAISS and BLAS threads; 1 is fastest for small batches on few cores",
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
    scale: ScaleSettings = ScaleSettings()
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


def read_preset(path: Path) -> tuple[dict[str, Any], YamlKeys]:
    """A YAML preset's mapping of sections, and the line of each key in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; {preset_hint(path)}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path} ({error}); pass a YAML file as --config") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {yaml_problem(error)}") from None
    if data is None:
        return {}, YamlKeys(path)
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, not {type(data).__name__}")
    return data, YamlKeys.of(path, text)


def preset_names() -> list[str]:
    """The presets in ``configs/`` of the working directory, or of the checkout streamclust runs from."""
    for folder in (Path("configs"), Path(__file__).resolve().parents[1] / "configs"):
        names = sorted(preset.name for preset in folder.glob("*.yaml"))
        if names:
            return [f"configs/{name}" for name in names]
    return []


def preset_hint(path: Path) -> str:
    presets = preset_names()
    if not presets:
        return "pass the path of a YAML preset (a copy of configs/default.yaml from the source)"
    same_name = [preset for preset in presets if Path(preset).stem == path.name.removesuffix(".yaml")]
    if same_name:
        return f"did you mean {same_name[0]}? The presets are: {', '.join(presets)}"
    return f"pass one of the presets: {', '.join(presets)}, or the path of your own"


def yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong and where, without quoting the file's lines (they may hold a secret)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "unreadable YAML"
    if mark is None:
        return str(problem)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def describe_validation_error(error: ValidationError, origins: Origins) -> str:
    """One line per problem: the key, the value given (``**********`` for a secret), what is wrong, and the
    variable or file line that set it."""
    lines = ["invalid settings:"]
    for problem in error.errors(include_url=False):
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        origin = origins.of(problem["loc"])
        lines.append(
            f"  {key} = {shown_input(problem)}: {problem['msg']}" + (f" ({origin})" if origin else "")
        )
    lines.append("Fix the value where it is set: the YAML file or the STREAMCLUST_* environment variable.")
    return "\n".join(lines)


def shown_input(problem: Any) -> str:
    """The value a problem is about, with every secret in it masked (a whole section for a section's problem)."""
    if problem["type"] == "missing":
        return "<missing>"
    if any(is_secret_name(part) for part in problem["loc"]):
        return MASK
    shown = repr(redacted(problem.get("input")))
    return shown if len(shown) <= 80 else shown[:77] + "..."


def load_settings(path: Path | str | None = None, **overrides: Any) -> Settings:
    """Build Settings from an optional YAML file, the environment and keyword overrides.

    An unknown ``STREAMCLUST_*`` variable or YAML key is a ConfigError with the nearest real name."""
    data, keys = read_preset(Path(path)) if path is not None else ({}, YamlKeys())
    unknown = unknown_environment_names(Settings, os.environ) + unknown_yaml_keys(Settings, data, keys)
    if unknown:
        listed = "\n".join(f"  {line}" for line in unknown)
        raise ConfigError(
            f"unknown settings:\n{listed}\nRename or remove them ('streamclust config reference' lists every setting)."
        )

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
        origins = Origins(keys, dict(os.environ), overrides)
        raise ConfigError(describe_validation_error(error, origins)) from None
    return Settings.model_validate(loaded.model_dump())
