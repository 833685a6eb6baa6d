"""`make demo`: the scripted scenario (sandbox.demo.scenario), one part per app (sandbox.demo.kayako)."""
