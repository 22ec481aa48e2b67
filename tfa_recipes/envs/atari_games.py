"""The Atari games ale-py ships ROMs for, by name: read without loading TensorFlow, so
`--game` is checked with the other flags, before anything starts."""

from __future__ import annotations

import difflib
import functools

import ale_py
import ale_py.roms as roms

from tfa_recipes.errors import RecipeError

# ale-py prints its banner on the first ALEInterface unless told to log errors only.
ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)

LIST_GAMES_COMMAND = "python -m tfa_recipes.envs.atari"
# ROMs with a multi-player mode only: ale-py registers no single-player environment for them.
_MULTIPLAYER_ONLY = frozenset({"combat", "joust", "maze_craze", "warlords"})


def rom_id_to_name(rom: str) -> str:
    """ale-py's naming: `space_invaders` -> `SpaceInvaders`."""
    return rom.title().replace("_", "")


@functools.lru_cache(maxsize=1)
def game_roms() -> dict[str, str]:
    return {
        rom_id_to_name(rom): rom for rom in roms.get_all_rom_ids() if rom not in _MULTIPLAYER_ONLY
    }


def available_games() -> list[str]:
    """The games whose ROM ale-py ships, by the name gym ids use (`Breakout`, ...)."""
    return sorted(game_roms())


def environment_name(game: str) -> str:
    """`BreakoutNoFrameskip-v4` for `Breakout`; `RecipeError` for a game ale-py lacks."""
    if game not in game_roms():
        close = difflib.get_close_matches(game, available_games(), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise RecipeError(
            f"unknown Atari game {game!r}{hint}; list the available games with "
            f"`{LIST_GAMES_COMMAND}`"
        )
    return f"{game}NoFrameskip-v4"
