"""Reading what users give: scenario files, item masters and demand history (read, fit,
classify, expand), and the generated data sets.
"""
