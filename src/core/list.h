#ifndef GH_CORE_LIST_H
#define GH_CORE_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* An intrusive doubly-linked list: the element embeds a gh_link and the list only points at
 * links, so linking and unlinking never allocate and take constant time (the request path
 * keeps connections, waits and idle sockets this way).
 *
 * The ends are NULL rather than a sentinel, so a zeroed gh_list is an empty list and a zeroed
 * gh_link is an unlinked element: structures that come from calloc or an arena need no set-up.
 * An element is in at most one list through one link at a time. */
typedef struct gh_link {
    struct gh_link *prev, *next;
} gh_link;

typedef struct gh_list {
    gh_link *first, *last;
} gh_list;

/* The element that embeds link as its member. */
#define GH_CONTAINER(link, type, member) ((type *)(void *)((char *)(link) - offsetof(type, member)))

/* The first element of list l, or NULL. */
#define GH_LIST_FIRST(l, type, member) ((l)->first ? GH_CONTAINER((l)->first, type, member) : NULL)

/* The element after e (linked by member), or NULL. */
#define GH_LIST_NEXT(e, type, member)                                                              \
    ((e)->member.next ? GH_CONTAINER((e)->member.next, type, member) : NULL)

static inline bool gh_list_empty(const gh_list *l)
{
    return l->first == NULL;
}

/* n becomes the first: walking from the front meets the most recent first. */
static inline void gh_list_push(gh_list *l, gh_link *n)
{
    n->prev = NULL;
    n->next = l->first;
    if (l->first)
        l->first->prev = n;
    else
        l->last = n;
    l->first = n;
}

/* n becomes the last: walking from the front meets the oldest first. */
static inline void gh_list_push_back(gh_list *l, gh_link *n)
{
    n->next = NULL;
    n->prev = l->last;
    if (l->last)
        l->last->next = n;
    else
        l->first = n;
    l->last = n;
}

/* Takes n out of l. An n that is not linked (zeroed, or unlinked already) leaves l as it is,
 * so an owner may unlink on every path without tracking whether it still is linked. */
static inline void gh_list_unlink(gh_list *l, gh_link *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else if (l->first == n)
        l->first = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else if (l->last == n)
        l->last = n->prev;
    n->prev = n->next = NULL;
}

/* Takes the first link out of l and returns it, or NULL when l is empty. */
static inline gh_link *gh_list_pop(gh_list *l)
{
    gh_link *n = l->first;
    if (n)
        gh_list_unlink(l, n);
    return n;
}

#endif
