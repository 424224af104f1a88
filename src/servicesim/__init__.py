"""servicesim: which customer service level earns the best return on the money it ties up?"""

__version__ = "0.1.0"
