"""Leads from the first save to the staff's mailbox: the store, the spool, notifications,
emergency leads, and the content-gaps page that records unanswered questions."""
