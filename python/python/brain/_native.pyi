from os import PathLike
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, final

__all__ = [
    "__version__",
    "Engine",
    "BrainError",
    "BrainBadRequestError",
    "BrainAuthError",
    "BrainNotFoundError",
    "BrainRateLimitError",
    "BrainServerError",
]
__version__: str

class BrainError(Exception):
    status: int
    code: str
    kind: str
    request_id: Optional[str]
    retry_after: Optional[int]
    body: Optional[Dict[str, Any]]

class BrainBadRequestError(BrainError): ...
class BrainAuthError(BrainError): ...
class BrainNotFoundError(BrainError): ...
class BrainRateLimitError(BrainError): ...
class BrainServerError(BrainError): ...

@final
class Engine:
    @staticmethod
    def open(path: Union[str, PathLike[str]], config: Optional[Dict[str, Any]] = None) -> Engine: ...
    @staticmethod
    def in_memory(config: Optional[Dict[str, Any]] = None) -> Engine: ...
    def respond(
        self,
        channel: str,
        channel_user_id: str,
        message_text: str,
        *,
        tenant: Optional[str] = None,
        api_key: Optional[str] = None,
        metadata: Optional[Any] = None,
        dedup_key: Optional[str] = None,
        has_image: bool = False,
    ) -> Any: ...
    def respond_deltas(
        self,
        tenant: str,
        channel: str,
        channel_user_id: str,
        message_text: str,
        *,
        metadata: Optional[Any] = None,
        dedup_key: Optional[str] = None,
        has_image: bool = False,
    ) -> Tuple[List[str], Any]: ...
    def handle_http(
        self,
        method: str,
        path: str,
        headers: Optional[Sequence[Tuple[str, str]]] = None,
        body: Optional[Any] = None,
    ) -> Any: ...
    def create_tenant(self, tenant_id: str, name: str = "", plan: str = "starter") -> None: ...
    def tenants(self) -> Any: ...
    def marketplace_apply(self, tenant_id: str, vertical_key: str) -> Any: ...
    def ingest(self, tenant_id: str, path: Union[str, PathLike[str]]) -> Any: ...
    def issue_key(
        self, tenant_id: str, label: str = "", scopes: Optional[Sequence[str]] = None, rate_limit_rpm: Optional[int] = None
    ) -> Any: ...
    def keys(self, tenant_id: Optional[str] = None) -> Any: ...
    def revoke_key(self, prefix: str) -> None: ...
    def trace(self, request_id: str) -> Any: ...
    def check_message(self, tenant_id: str, text: str) -> Any: ...
    def register_tool(
        self,
        name: str,
        description: str,
        schema: Any,
        handler: Callable[[Any], Any],
        *,
        side_effect: bool = False,
        timeout_ms: int = 5000,
        triggers: Optional[Sequence[str]] = None,
    ) -> None: ...
    def enable_tool(self, tenant_id: str, name: str) -> None: ...
    def set_generator(self, generator: Optional[Callable[[Any], Any]]) -> None: ...
    def load_models(
        self,
        *,
        chat_model: Optional[str] = None,
        embedder: Optional[str] = None,
        route: Optional[str] = None,
        threads: Optional[int] = None,
    ) -> None: ...
