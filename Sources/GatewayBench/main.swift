print("gateway-bench: not built yet")
