"""GoHighLevel API v2: client, models, errors, OAuth and webhook verification."""
