"""Mutations of a DER tree (`der_tree.Node`) chosen by the fuzzer's bytes: the input of a structure-aware
harness is a program, not a file. Each step is (mutation, node number, parameters); the numbers are taken
modulo what exists, so every input is a valid program and libFuzzer's byte mutations of it become
mutations of the tree. Lengths are recomputed when the tree is encoded, so the result stays well-formed
DER unless a step asks for another length form (long form, BER's indefinite length) on purpose.

A program replays on any build of the same seed file: node numbers count the tree's shape, not its bytes
(the sample PKI's keys and serial numbers differ between builds, its catalogs' shapes do not).
"""

from __future__ import annotations

from collections.abc import Callable

from fuzz.der_tree import Node

INTEGER, BIT_STRING, OCTET_STRING, OID, UTC_TIME, GENERALIZED_TIME = 0x02, 0x03, 0x04, 0x06, 0x17, 0x18
MAX_STEPS = 6

# tags a node may be given: the universal types and context tags catalogs use, and a few they do not
TAGS = (0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x17, 0x18, 0x30, 0x31, 0x80, 0x81, 0xA0, 0xA1, 0xA2, 0x1F)
TIMES = (
    b"160101000000Z",
    b"20160101000000Z",
    b"491231235959Z",
    b"500101000000Z",
    b"20160101000000.5Z",
    b"20160101000000.000Z",
    b"201601010000Z",
    b"1601010000Z",
    b"20160101000000+0100",
    b"160101000000+0100",
    b"20160101000000",
    b"00000101000000Z",
    b"000101000000Z",
    b"99991231235959Z",
    b"20161301000000Z",
    b"20160230000000Z",
    b"20160101246000Z",
    b"2016010100000aZ",
    b"",
)
INTEGERS = (b"", b"\x00", b"\x00\x01", b"\xff", b"\x80", b"\xff\x80", b"\x7f" + b"\xff" * 8, b"\x01" * 40)


class Program:
    """The fuzzer's bytes read as numbers and byte strings; zeros once they run out."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def left(self) -> bool:
        return self.at < len(self.data)

    def byte(self) -> int:
        found = self.data[self.at] if self.at < len(self.data) else 0
        self.at += 1
        return found

    def number(self) -> int:
        return self.byte() << 8 | self.byte()

    def blob(self) -> bytes:
        size = self.byte()
        found = self.data[self.at : self.at + size]
        self.at += size
        return found


def _siblings(node: Node) -> list[Node] | None:
    return node.parent.children if node.parent is not None else None


def replace(node: Node, program: Program, tree: Node) -> None:
    """Its contents become the fuzzer's bytes (a constructed node becomes primitive)."""
    node.children, node.value = None, program.blob()


def resize(node: Node, program: Program, tree: Node) -> None:
    """Cut its contents short or extend them (a constructed node: drop or add trailing children)."""
    if node.children is None:
        keep = program.number() % (len(node.value) + 1)
        node.value = node.value[:keep] + program.blob()
    elif node.children:
        del node.children[program.byte() % len(node.children) :]


def swap(node: Node, program: Program, tree: Node) -> None:
    siblings = _siblings(node)
    if siblings:
        here, there = siblings.index(node), program.byte() % len(siblings)
        siblings[here], siblings[there] = siblings[there], siblings[here]


def duplicate(node: Node, program: Program, tree: Node) -> None:
    siblings = _siblings(node)
    if siblings is not None:
        twin = node.clone()
        twin.parent = node.parent
        siblings.insert(siblings.index(node) + program.byte() % 2, twin)


def drop(node: Node, program: Program, tree: Node) -> None:
    siblings = _siblings(node)
    if siblings is not None:
        siblings.remove(node)


def graft(node: Node, program: Program, tree: Node) -> None:
    """Its place taken by a copy of another node of the tree (a certificate where a signer was, ...)."""
    siblings = _siblings(node)
    nodes = list(tree.walk())
    donor = nodes[program.number() % len(nodes)]
    if siblings is not None and donor is not node:
        twin = donor.clone()
        twin.parent = node.parent
        siblings[siblings.index(node)] = twin


def insert(node: Node, program: Program, tree: Node) -> None:
    """A new primitive child (tag and contents from the fuzzer) among a constructed node's children."""
    if node.children is not None:
        child = Node(TAGS[program.byte() % len(TAGS)], program.blob(), parent=node)
        node.children.insert(program.byte() % (len(node.children) + 1), child)


def retag(node: Node, program: Program, tree: Node) -> None:
    choice = program.byte()
    node.tag = TAGS[choice % len(TAGS)] if choice < 0xF0 else program.byte()


def length_form(node: Node, program: Program, tree: Node) -> None:
    """A length in another valid form: long form of 1-5 bytes, or (constructed) BER's indefinite length."""
    choice = program.byte() % 6
    if choice == 5:
        node.indefinite = node.children is not None
    else:
        node.length_bytes = choice + 1


def flip(node: Node, program: Program, tree: Node) -> None:
    """One byte of an INTEGER, BIT STRING or OCTET STRING (serial number, signature, digest) changed."""
    if node.value:
        at, mask = program.number() % len(node.value), program.byte() or 1
        node.value = node.value[:at] + bytes([node.value[at] ^ mask]) + node.value[at + 1 :]


def integer(node: Node, program: Program, tree: Node) -> None:
    """An INTEGER at an edge: empty, zero, not minimal, negative, more than 64 bits."""
    node.children, node.value = None, INTEGERS[program.byte() % len(INTEGERS)]


def time(node: Node, program: Program, tree: Node) -> None:
    """Another time, valid or not, as UTCTime or GeneralizedTime."""
    choice = program.byte()
    node.value = TIMES[choice % len(TIMES)] if choice < 0xF0 else program.blob()
    if program.byte() % 4 == 0:
        node.tag = UTC_TIME if node.tag == GENERALIZED_TIME else GENERALIZED_TIME


Mutation = Callable[[Node, Program, Node], None]


def apply(tree: Node, program: Program, oid: Mutation) -> list[str]:
    """Run the program's steps (at most MAX_STEPS) on `tree`; `oid` is the harness' own OID mutation
    (it knows which OIDs matter to its reader). The names of the mutations applied, in order."""
    steps: list[tuple[str, Mutation, tuple[int, ...]]] = [
        ("replace", replace, ()),
        ("resize", resize, ()),
        ("swap", swap, ()),
        ("duplicate", duplicate, ()),
        ("drop", drop, ()),
        ("graft", graft, ()),
        ("insert", insert, ()),
        ("retag", retag, ()),
        ("length", length_form, ()),
        ("flip", flip, (INTEGER, BIT_STRING, OCTET_STRING)),
        ("integer", integer, (INTEGER,)),
        ("time", time, (UTC_TIME, GENERALIZED_TIME)),
        ("oid", oid, (OID,)),
    ]
    done: list[str] = []
    while program.left() and len(done) < MAX_STEPS:
        name, mutation, tags = steps[program.byte() % len(steps)]
        nodes = [n for n in tree.walk() if not tags or (n.tag in tags and n.children is None)]
        if nodes:
            mutation(nodes[program.number() % len(nodes)], program, tree)
            done.append(name)
    return done
