from . import account_numbers
