"""Composition: services made of services.

``router`` and ``menu`` dispatch each request to a route; ``pipeline`` chains
stages (functions or services) into one service; ``Registry`` names services
and hands out references that survive restarts and moves.
"""

from nanoservices.core.seam import publish

from ._pipeline import OpenPipeline as OpenPipeline
from ._pipeline import Pipeline as Pipeline
from ._pipeline import Stage as Stage
from ._pipeline import broadcast as broadcast
from ._pipeline import collect as collect
from ._pipeline import each as each
from ._pipeline import keep as keep
from ._pipeline import merge as merge
from ._pipeline import pipeline as pipeline
from ._pipeline import stage as stage
from ._pipeline import transform as transform
from ._registry import Binding as Binding
from ._registry import HandleBinding as HandleBinding
from ._registry import LocalBinding as LocalBinding
from ._registry import Registry as Registry
from ._registry import ServiceInfo as ServiceInfo
from ._registry import ServiceRef as ServiceRef
from ._registry import default_registry as default_registry
from ._router import Menu as Menu
from ._router import Routed as Routed
from ._router import Router as Router
from ._router import menu as menu
from ._router import route as route
from ._router import route_of as route_of
from ._router import router as router

__all__ = [
    "Binding",
    "HandleBinding",
    "LocalBinding",
    "Menu",
    "OpenPipeline",
    "Pipeline",
    "Registry",
    "Routed",
    "Router",
    "ServiceInfo",
    "ServiceRef",
    "Stage",
    "broadcast",
    "collect",
    "default_registry",
    "each",
    "keep",
    "menu",
    "merge",
    "pipeline",
    "route",
    "route_of",
    "router",
    "stage",
    "transform",
]

publish(__name__, __all__, globals())
