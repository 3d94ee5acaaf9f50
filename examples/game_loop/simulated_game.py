"""A game loop driving the engine: explore, combat, victory, defeat, each a mood.

Start the engine first (any output; here it records to a file):

    moodscore serve --record game.mid

then run this script. Each game state sets a target mood; in combat the player's health drives
arousal (the closer to death, the more frantic) and valence (losing is unpleasant); a won fight
plays the victory stinger, a lost one the defeat stinger. Bar events come back from the engine
and the game prints them, as a game would use them to time its own beats.

    python examples/game_loop/simulated_game.py --seconds 60
"""
from __future__ import annotations

import argparse
import random
import time

from moodscore.client import MoodClient

STATES = {  # (valence, arousal) of each game state
    "explore": (0.4, -0.4),
    "combat": (-0.3, 0.7),
    "victory": (0.8, 0.6),
    "defeat": (-0.8, -0.6),
}


def combat_mood(health: float) -> tuple[float, float]:
    """Health 1.0 (fresh) to 0.0 (dying): arousal rises and valence falls as it drops."""
    return -0.2 - 0.6 * (1 - health), 0.5 + 0.5 * (1 - health)


def play(client: MoodClient, seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    client.transition("bar")  # mood changes land on the next bar line
    client.subscribe("bar")
    end = time.monotonic() + seconds
    state, health, since = "explore", 1.0, time.monotonic()
    client.va(*STATES[state], glide=2.0)
    print("explore")
    while time.monotonic() < end:
        for event in client.events(timeout=0.25):  # drain what came back, then go on
            print(f"  bar {event['bar']} at {event['tempo']:.0f} BPM")
        if state == "explore" and time.monotonic() - since > 12:
            state, since, health = "combat", time.monotonic(), 1.0
            client.transition("beat")  # combat should not wait for the bar
            client.va(*combat_mood(health), glide=0.5)
            client.transition("bar")
            print("combat!")
        elif state == "combat":
            health = max(0.0, health - rng.uniform(0.0, 0.06))
            client.va(*combat_mood(health), glide=1.0)
            if health == 0.0 or time.monotonic() - since > 15:
                state, since = ("defeat" if health < 0.3 else "victory"), time.monotonic()
                client.stinger(state)
                client.va(*STATES[state], glide=1.0)
                print(f"{state} (health {health:.2f})")
        elif state in ("victory", "defeat") and time.monotonic() - since > 8:
            state, since = "explore", time.monotonic()
            client.va(*STATES[state], glide=4.0)
            print("explore")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--ws-port", type=int, default=8765)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    with MoodClient(args.host, ws_port=args.ws_port) as client:
        play(client, args.seconds, args.seed)


if __name__ == "__main__":
    main()
