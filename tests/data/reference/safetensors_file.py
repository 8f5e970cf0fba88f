"""The safetensors writer the reference scripts share (numpy only): written from the format's
definition, an 8-byte little-endian header length, the JSON header, then the raw tensors."""
import json
import struct

import numpy as np


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: (dtype string, numpy array)}, stored in name order, little-endian; the
    header's keys sorted ("__metadata__" first when given), padded with spaces to 8 bytes."""
    header, offset, blobs = ({"__metadata__": metadata} if metadata else {}), 0, []
    for name in sorted(tensors):
        dtype, arr = tensors[name]
        raw = np.ascontiguousarray(arr).astype("<" + arr.dtype.str[1:]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    header = {key: header[key] for key in sorted(header)}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
