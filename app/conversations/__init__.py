"""Each user's chats, the answers they got, their feedback, and usage figures.

- ``store``          conversations, stored answers and feedback
- ``stored_answer``  an ``Answer`` back from its stored JSON, to show it again
- ``tables``         the conversation tables on the app database
- ``stats``          usage figures and the feedback queue for the admin console
"""
