"""What a scenario is: the validated schema, distributions, dotted-path overrides, located
validation messages and YAML serialisation (DOMAIN §2-§5 as data).
"""
