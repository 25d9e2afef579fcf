"""The fake ShipStation account (`fake_server.FakeShipStation`): API v1 as documented, refusing what ShipStation
refuses (bad credentials, createorder without its required fields, an update of a shipped or cancelled order,
pages over 500, more than its requests a minute)."""
