pytest_plugins = ["jemput.shared.testing.fixtures"]
