raise RuntimeError("plugin refuses to import")
