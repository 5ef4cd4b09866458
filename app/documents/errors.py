"""The one error intake raises: a status, a code and a message a person understands."""


class IntakeError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
