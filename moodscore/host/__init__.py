"""Many sessions, one engine: ``moodscore host`` (:mod:`.server`), its socket-free core
(:mod:`.core`), the shared generation worker (:mod:`.worker`) and ``moodscore bench sessions``
(:mod:`.bench`)."""
