"""A DER file as a tree of TLV nodes that can be edited and written back with correct lengths, for the
structure-aware harnesses: byte-level mutations of a signed file mostly break its outer lengths, so the
reader under test refuses it at the first element and never reaches the code that judges a signature.
Mutating nodes of the parsed tree keeps every enclosing length right, so each mutation lands where it was
aimed (an OID, a time, a signature, a child swapped or dropped deep inside the SignedData).

The tree is read with imgscan's own DER walker (`members.tlv`); `encode(parse(data)) == data` for any
file in definite-length DER or BER (a long-form length keeps its width), which `parse` checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from imgscan.signing.members import NotPlainDer, tlv

OCTET_STRING, SEQUENCE = 0x04, 0x30


@dataclass
class Node:
    """One TLV. `children` is None for a primitive (its contents are `value`); a primitive OCTET STRING
    holding exactly one SEQUENCE (an RFC 3161 TSTInfo) has that SEQUENCE as its one child, so that
    mutations reach inside it.
    `length_bytes`: width of a long-form length (0: the short form when it fits), `indefinite`: BER's
    indefinite length (a constructed node only, ended by two zero bytes)."""

    tag: int
    value: bytes = b""
    children: list[Node] | None = None
    length_bytes: int = 0
    indefinite: bool = False
    parent: Node | None = field(default=None, repr=False, compare=False)

    def contents(self) -> bytes:
        return b"".join(encode(c) for c in self.children) if self.children is not None else self.value

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first (the order a mutation's node number counts in)."""
        yield self
        for child in self.children or []:
            yield from child.walk()

    def adopt(self) -> Node:
        """Set the `parent` of every node below this one (after children were moved); returns self."""
        for child in self.children or []:
            child.parent = self
            child.adopt()
        return self

    def clone(self) -> Node:
        """A copy of this node and those below it, detached from the tree."""
        children = None if self.children is None else [c.clone() for c in self.children]
        return Node(self.tag, self.value, children, self.length_bytes, self.indefinite).adopt()


def encode(node: Node) -> bytes:
    contents = node.contents()
    if node.indefinite and node.children is not None:
        return bytes([node.tag, 0x80]) + contents + b"\x00\x00"
    size = len(contents)
    needed = 0 if size < 0x80 else (size.bit_length() + 7) // 8
    width = max(needed, node.length_bytes)
    if not width:
        return bytes([node.tag, size]) + contents
    return bytes([node.tag, 0x80 | width]) + size.to_bytes(width, "big") + contents


def parse(data: bytes) -> Node:
    """The tree of the first element of `data` (what follows it is dropped). Raises NotPlainDer when
    `data` does not start with an element the walker reads."""
    root = _node(data, 0, len(data))[0]
    if encode(root) != data[: len(encode(root))]:
        raise NotPlainDer  # an encoding the tree cannot reproduce byte for byte
    return root.adopt()


def _node(data: bytes, start: int, end: int) -> tuple[Node, int]:
    """The node at `start` and where it ends."""
    tag, first, last = tlv(data, start, end)
    length_bytes = first - start - 2
    node = Node(tag, data[first:last], length_bytes=length_bytes)
    if tag & 0x20:
        node.children = _children(data, first, last)
    elif tag == OCTET_STRING and data[first : first + 1] == bytes([SEQUENCE]):
        inner = _children(data, first, last)
        if inner is not None and len(inner) == 1 and inner[0].tag == SEQUENCE:
            node.children = inner
    if node.children is not None:
        node.value = b""
    return node, last


def _children(data: bytes, start: int, end: int) -> list[Node] | None:
    """The nodes filling `data[start:end]` exactly, or None when it is not a run of elements."""
    found: list[Node] = []
    try:
        while start < end:
            child, start = _node(data, start, end)
            found.append(child)
    except NotPlainDer:
        return None
    return found
