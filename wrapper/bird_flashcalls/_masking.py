# How phone numbers are shown in reprs: all but the first few digits hidden. Self-contained:
# templates/types.py.jinja includes this file as it is (through the link templates/masking.py),
# so the generated models mask numbers by this same rule.


def masked_number(value: str) -> str:
    """'+31612345678' -> '+316********': no digit a verification code could be taken from."""
    keep = min(4, len(value) // 3)
    return value[:keep] + "*" * (len(value) - keep)
