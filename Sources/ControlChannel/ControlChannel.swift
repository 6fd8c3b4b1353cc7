// The control channel between gatewayd and gatewayctl (messages, framing).
