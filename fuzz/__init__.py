"""Coverage-guided fuzzing (atheris/libFuzzer) of imgscan's hand-written readers of hostile input.

One harness per reader, `fuzz_<reader>.py`; `python -m fuzz --help` runs them; engine.py says what
a harness holds. Not part of the installed package (like bench/).
"""
