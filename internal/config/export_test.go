package config

// SettingOption returns the option that errors name for the setting called name, and
// whether the setting is known; for the tests of package config_test.
func SettingOption(name string) (option string, ok bool) {
	s, ok := byName[name]
	if !ok {
		return "", false
	}
	return s.option, true
}
