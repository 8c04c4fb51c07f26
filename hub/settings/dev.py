"""Local development and `make run`: embedded defaults, nothing external needed."""
from .base import *  # noqa: F401,F403
from .base import env_bool

DEBUG = env_bool("DEBUG", False)
